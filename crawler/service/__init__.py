"""The daemon (`presswatch run`): its jobs and schedule, the supervision of the one long-lived
crawl engine it feeds with due sources, and what follows each run (health, adaptive intervals)."""
