"""Reports: papermill orchestration, HTML rendering, approvals and schedules."""
