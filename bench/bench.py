"""Load test: N concurrent conversations against the REST channel.

Each conversation sends a fixed French script one message at a time, waiting
for the answer (and `--think` seconds, a person reading) before the next.
Prints p50 / p95 / max turn latency and throughput. Needs `make run` running.

    .venv/bin/python bench/bench.py --conversations 20 --think 1.0 [--stagger 1.0 --rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid

import aiohttp

SCRIPT = [
    "bonjour",
    "c'est quoi l'aide universelle d'urgence",
    "c'est combien avec deux enfants",
    "le pack nouveau départ existe chez moi ?",
    "Marseille",
    "il me frappe",
    "où dormir ce soir",
    "merci",
]


async def conversation(session, url, think, latencies, errors, delay=0.0, rounds=1):
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    await asyncio.sleep(delay)
    for message in SCRIPT * rounds:
        start = time.perf_counter()
        try:
            async with session.post(url, json={"sender": sender, "message": message}) as resp:
                body = await resp.json()
                if resp.status != 200 or not body:
                    errors.append(resp.status)
        except aiohttp.ClientError as exc:
            errors.append(type(exc).__name__)
        latencies.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(think)
    await session.post(url, json={"sender": sender, "message": "effacer"})


async def main(args):
    url = f"{args.url}/webhooks/rest/webhook"
    latencies: list[float] = []
    errors: list = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        # Warm-up: the first parse loads lazily initialised parts of the pipeline.
        await conversation(session, url, 0, [], [])
        start = time.perf_counter()
        # --stagger: people do not all press « envoyer » in the same millisecond.
        await asyncio.gather(
            *(
                conversation(session, url, args.think, latencies, errors, random.uniform(0, args.stagger), args.rounds)
                for _ in range(args.conversations)
            )
        )
        elapsed = time.perf_counter() - start
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(
        f"conversations={args.conversations} think={args.think}s stagger={args.stagger}s "
        f"turns={len(latencies)} errors={len(errors)}"
    )
    print(f"latency ms: p50={statistics.median(latencies):.0f} p95={p95:.0f} max={latencies[-1]:.0f}")
    print(f"throughput: {len(latencies) / elapsed:.1f} turns/s over {elapsed:.1f}s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://localhost:5005")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between turns")
    parser.add_argument(
        "--stagger",
        type=float,
        default=0.0,
        help="each conversation starts after a random delay up to this (0: all at once)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="times each conversation plays the script")
    asyncio.run(main(parser.parse_args()))
