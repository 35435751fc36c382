"""A sales report with SQLAlchemy Core: rows from the event go into an in-memory SQLite
database, a grouped query runs there, and the same query is compiled for PostgreSQL through
psycopg2's dialect (psycopg2 imported and its libpq version read; no server is reached)."""

import psycopg2
import psycopg2.extensions
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    func,
    select,
)
from sqlalchemy.dialects import postgresql

metadata = MetaData()
sales = Table(
    "sales", metadata,
    Column("id", Integer, primary_key=True),
    Column("region", String(20), nullable=False),
    Column("amount", Numeric(10, 2), nullable=False),
)
# Created at init, as a function keeps its engine between invocations; creating an engine
# connects to nothing, so the PostgreSQL one only proves the psycopg2 driver loads.
engine = create_engine("sqlite://")
postgres = create_engine("postgresql+psycopg2://report@db.internal:5432/sales")
metadata.create_all(engine)


def handler(event, context):
    report = (
        select(
            sales.c.region,
            func.count().label("orders"),
            func.sum(sales.c.amount).label("total"),
        )
        .where(sales.c.amount >= event["min_amount"])
        .group_by(sales.c.region)
        .order_by(sales.c.region)
    )
    with engine.begin() as connection:
        connection.execute(sales.delete())
        connection.execute(sales.insert(), event["rows"])
        rows = connection.execute(report).all()
    compiled = report.compile(dialect=postgresql.psycopg2.dialect(),
                              compile_kwargs={"literal_binds": True})
    return {
        "report": [{"region": r.region, "orders": r.orders, "total": str(r.total)} for r in rows],
        "postgresql": " ".join(str(compiled).split()),
        "driver": postgres.dialect.driver,
        "psycopg2": psycopg2.__version__.split()[0],
        "libpq": psycopg2.__libpq_version__,
        "quoted": psycopg2.extensions.adapt(event["rows"][0]["region"]).getquoted().decode(),
    }
