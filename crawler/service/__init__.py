"""The daemon (`presswatch run`): its lock, jobs and schedule, and the supervision of the one
long-lived crawl engine it feeds with due sources."""
