"""Intraclass clustering measures, models and training for the ICLR 2021 reproduction workflow."""
