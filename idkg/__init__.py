"""idkg."""
