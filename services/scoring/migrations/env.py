import services.scoring.season_models  # noqa: F401  (the season's tables join Base.metadata)
from services.scoring.models import Base
from shared.migrations_env import run_migrations

run_migrations(Base.metadata)
