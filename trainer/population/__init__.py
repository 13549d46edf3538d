"""Population simulator: thousands of users' weeks as ``momentsense-timeline-v1`` with ground truth."""

from momentsense.trainer.population.profile import PERSONAS, Profile, sample_profile
from momentsense.trainer.population.simulate import PopulationOptions, public_holidays, simulate_population, simulate_user

__all__ = ["PERSONAS", "Profile", "sample_profile", "PopulationOptions", "public_holidays", "simulate_population", "simulate_user"]
