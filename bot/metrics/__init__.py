"""DORA metrics: queries (service), pure rules (compute), tier profiles and reports."""
