"""File formats: ``momentsense-imu-v1`` recordings and ``momentsense-timeline-v1`` timelines,
and their validation."""
