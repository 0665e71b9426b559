"""The small languages inside workflow text: port types, `when` conditions, shape patterns."""
