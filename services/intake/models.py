"""Tables of the intake service (its own schema): the vendors that may post events and their tokens, hashed."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime


class Base(DeclarativeBase):
    pass


class Vendor(Base):
    """A one-door vendor (or an LGSP integration) allowed to post events over HTTP."""

    __tablename__ = "vendors"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    # When set, every event's envelope `source` must equal it: a vendor cannot post as another.
    source: Mapped[str | None] = mapped_column(sa.String(200))
    # Subject DN of the client certificate the Ingress verified (mTLS), when the vendor authenticates that way.
    client_subject: Mapped[str | None] = mapped_column(sa.String(500), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(200))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class VendorToken(Base):
    """A bearer token: only its SHA-256 is kept; ``token_id`` is the public part shown in listings and logs."""

    __tablename__ = "vendor_tokens"
    token_id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    vendor: Mapped[str] = mapped_column(sa.ForeignKey("vendors.name", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(200))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # set when rotated: a grace period
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
