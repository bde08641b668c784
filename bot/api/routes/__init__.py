"""One router per door of the service."""
