"""What the NLU pipeline costs per message, in-process (no HTTP, no actions), for one trained model.

    .venv/bin/python bench/parse_cost.py [models/nouveau-depart.tar.gz]

Run it from the checkout the model was trained in (its custom components are imported from
there). Prints p50 / p95 over 25 rounds of bench/bench.py's script, after a warm-up round.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import SCRIPT  # noqa: E402


async def run(path: str, rounds: int = 25) -> tuple[float, float]:
    from rasa.core.agent import load_agent

    agent = await load_agent(model_path=path)
    for text in SCRIPT:
        await agent.parse_message(text)
    times = []
    for _ in range(rounds):
        for text in SCRIPT:
            start = time.perf_counter()
            await agent.parse_message(text)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95)]


if __name__ == "__main__":
    model = sys.argv[1] if len(sys.argv) > 1 else "models/nouveau-depart.tar.gz"
    p50, p95 = asyncio.run(run(model))
    print(f"{model}: NLU parse p50 {p50:.1f} ms, p95 {p95:.1f} ms")
