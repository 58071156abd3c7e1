"""Teams, their repositories and services, and the people in them."""
