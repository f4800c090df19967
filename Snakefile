# Intraclass clustering (ICLR 2021) reproduction: includes and targets only; each stage is a file in rules/.
# config.yaml, the default study, is read only when no --configfile is given: a study file stands alone, and what it
# leaves out takes the schema's documented defaults (rules/common.smk), never the default study's shortcuts.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/measures.smk"
include: "rules/sharpness.smk"
include: "rules/kendall.smk"
include: "rules/power.smk"
include: "rules/paper.smk"
include: "rules/criteria.smk"
include: "rules/leaderboard.smk"
include: "rules/sweeps.smk"
include: "rules/report.smk"
include: "rules/figures.smk"


report: "report/workflow.rst"


rule all:
    default_target: True
    input:
        planned_targets(),
        trained_targets,
        POWER_TABLES,
