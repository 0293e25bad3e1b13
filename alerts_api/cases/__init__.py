"""Cases: what an alert becomes so that somebody handles it (issue #20)."""
