"""The simulated world: a district, its latent distress and arrears (the truth), what each source observes, faults, and the event log it writes."""
