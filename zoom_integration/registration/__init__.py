"""Registration answers, question mappings, tracking sources and the public registration page
(rules E1-E5)."""
