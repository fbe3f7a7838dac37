"""``python listing_worker.py POST_ID MAX_RESULTS OUT``: list a post's likers through ``x_default`` with the
budget in Airflow Variables (the metadata DB of ``AIRFLOW_HOME``, as outside a task); writes the ids as JSON to the file ``OUT``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow_provider_xlikes.hooks.budget import VariableBudgetStore
from airflow_provider_xlikes.hooks.x import XHook

if __name__ == "__main__":
    post_id, max_results, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    hook = XHook(budget_store=VariableBudgetStore())
    out.write_text(json.dumps([user["id"] for user in hook.get_liking_users(post_id, max_results=max_results)]))
