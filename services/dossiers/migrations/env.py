from services.dossiers.index766 import tables  # noqa: F401 - its tables join the metadata
from services.dossiers.models import Base
from shared.migrations_env import run_migrations

run_migrations(Base.metadata)
