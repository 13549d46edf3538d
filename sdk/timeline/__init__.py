"""The person's day on the device: transport events, stay points, visits, places, trips, driving."""
