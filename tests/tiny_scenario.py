"""A tiny scenario on a CSV data folder (reps R1 in T1/West, R2 in T2/East), for tests of
the adjustment store and its checks."""

from pathlib import Path

REPS_CSV = "rep_id,region,territory_id,hire_date\nR1,West,T1,2024-01-01\nR2,East,T2,2024-01-01\n"


def tiny_scenario(tmp_path: Path, bookings: str, months: int, accounts: str | None = None) -> Path:
    """Write ``data/`` (reps, ``bookings`` rows under ``rep_id,date,amount``, optional
    ``accounts`` CSV text) and ``s.yaml`` (scenario ``tiny``, horizon 2027-04 + ``months``)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "reps.csv").write_text(REPS_CSV)
    (data / "bookings.csv").write_text("rep_id,date,amount\n" + bookings)
    if accounts is not None:
        (data / "accounts.csv").write_text(accounts)
    path = tmp_path / "s.yaml"
    path.write_text(f"name: tiny\ndata: data\nhorizon: {{start: 2027-04, months: {months}}}\n")
    return path
