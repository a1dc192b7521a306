"""Storage: SQLAlchemy Core tables, engine set-up, and the stores that run domain rules in transactions."""
