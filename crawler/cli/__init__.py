"""The `presswatch` command."""
