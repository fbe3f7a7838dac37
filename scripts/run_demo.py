"""Runs the demo DAG with ``dag.test()`` against a freshly started X API sandbox (see demo.sh)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: XLIKES_DEMO_DIR moves the Airflow home and the output (the tests run the demo in a temp dir)
BASE = Path(os.environ.get("XLIKES_DEMO_DIR", ROOT))
HOME = BASE / ".airflow-demo"
OUTPUT = BASE / "output"


def main() -> int:
    from airflow_provider_xlikes.sandbox.process import start_sandbox

    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(HOME),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{HOME / 'airflow.db'}",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
        XLIKES_DEMO_OUTPUT=OUTPUT.as_uri(),
        # dag.test() runs Airflow's execution API in process through starlette's TestClient, whose
        # deprecation notice is Airflow's to fix, not a problem of the demo
        PYTHONWARNINGS="ignore::UserWarning:fastapi.testclient",
    )
    HOME.mkdir(parents=True, exist_ok=True)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    posts = "1354143047324299264:333,1460323737035677698:2500,1519781379172495360:7"
    # the demo pages long liker listings, which X has capped at 100 per post since 2026: lifted here
    with start_sandbox(post_likes=posts.split(","), me_likes=420, liking_users_cap=None) as sandbox:
        print(f"X API sandbox at {sandbox.url}")
        env["AIRFLOW_CONN_X_DEFAULT"] = sandbox.conn_json("oauth2_user")
        run = subprocess.run([sys.executable, str(ROOT / "example_dags" / "xlikes_demo.py")], env=env, check=False)
        counts = sandbox.admin.request_counts()
    manifests = sorted(OUTPUT.rglob("_manifest.json"))
    print(f"\nrequests the sandbox answered: {json.dumps(counts['by_endpoint'])}")
    print(f"results in {OUTPUT}:")
    for path in manifests:
        manifest = json.loads(path.read_text())
        print(
            f"  {path.relative_to(OUTPUT).parent}: {manifest['record_count']} records, {len(manifest['files'])} file(s)"
        )
    return run.returncode if manifests else 1


if __name__ == "__main__":
    sys.exit(main())
