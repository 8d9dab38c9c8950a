#!/usr/bin/env python3
"""bench/report.py OUTDIR — gate44's benchmark report.

Reads what bench/run left in OUTDIR (machine.json, crypto.json, engine.json,
e2e-gate44-dp.json, e2e-wireguard-go.json), writes OUTDIR/bench.json (all of
it in one document), OUTDIR/REPORT.md (tables, the issue's targets with the
margin of each) and two gnuplot PNGs (Mpps vs packet size per
implementation, Mpps vs established peers). The targets are ratios to the
same run's raw AEAD rate or to wireguard-go, because absolute rates move
from machine to machine."""
import json
import os
import subprocess
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def sname(size):
    return "IMIX" if size == "imix" else f"{size} B"


def aead(crypto, backend, op, size):
    """Raw AEAD Mpps for an inner packet of `size` bytes (the WireGuard
    payload is the inner packet padded to 16; the bench's 1420 is that)."""
    if crypto is None or size == "imix":
        return None
    for a in crypto["aead"]:
        if a["backend"] == backend and a["op"] == op and a["size"] == size:
            return a["mpps"]
    return None


def run(engine, peers, size, direction):
    for r in (engine or {}).get("runs", []):
        if r["peers"] == peers and r["size"] == size and r["direction"] == direction:
            return r
    return None


def fmt(x, nd=3):
    return "–" if x is None else f"{x:.{nd}f}"


def main():
    out = sys.argv[1]
    machine = load(f"{out}/machine.json") or {}
    crypto = load(f"{out}/crypto.json")
    engine = load(f"{out}/engine.json")
    e2e = {n: load(f"{out}/e2e-{n}.json") for n in ("gate44-dp", "wireguard-go")}
    doc = {"machine": machine, "crypto": crypto, "engine": engine, "e2e": e2e}
    with open(f"{out}/bench.json", "w") as f:
        json.dump(doc, f, indent=1)

    md = []
    w = md.append
    w("# gate44 benchmark report\n")
    w(f"Machine: {machine.get('cpu_model', '?')}, {machine.get('cpus', '?')} CPUs "
      f"({' '.join(machine.get('cpu_flags', []))}), "
      f"{machine.get('memory_bytes', 0) / 2**30:.0f} GiB, {machine.get('os', '?')}, "
      f"kernel {machine.get('kernel', '?')}, DPDK {machine.get('dpdk', '?')}. "
      f"Commit {machine.get('commit', '?')}{' (with local changes)' if machine.get('dirty') else ''}, "
      f"{machine.get('date', '?')}. "
      f"{'Quick run. ' if engine and engine.get('quick') else ''}"
      "One worker core; the generator on the other core.\n")

    targets = []

    def target(name, value, goal, unit="", higher=True, why="", bound=False):
        ok = None if value is None else (value >= goal if higher else value <= goal)
        if bound and ok is False:
            ok = None  # a lower bound under the goal says nothing
        targets.append((name, value, goal, unit, ok, why))

    # ---- raw limit ----
    if crypto:
        w("## Raw limit of one core (same run)\n")
        w("| size | ipsec-mb seal | ipsec-mb open | libsodium seal | libsodium open |")
        w("|---|---|---|---|---|")
        for s in sorted({a["size"] for a in crypto["aead"]}):
            w(f"| {s} B | {fmt(aead(crypto, 'ipsec-mb', 'seal', s))} | "
              f"{fmt(aead(crypto, 'ipsec-mb', 'open', s))} | "
              f"{fmt(aead(crypto, 'libsodium', 'seal', s))} | "
              f"{fmt(aead(crypto, 'libsodium', 'open', s))} |")
        x = crypto.get("x25519", {}).get("ops_per_sec")
        w(f"\nMpps, bursts of 32, a key per message. X25519 (libsodium): "
          f"{x:.0f} ops/s.\n" if x else "")

    # ---- engine-only ----
    if engine:
        runs = engine.get("runs", [])
        peers = sorted({r["peers"] for r in runs})
        sizes = []
        for r in runs:
            if r["size"] not in sizes:
                sizes.append(r["size"])
        w("## Engine-only (the pipeline from memory, one worker core)\n")
        w("| peers | size | direction | Mpps | Gbit/s | cycles/pkt | vs raw AEAD | "
          "latency p50 / p99 / p99.9 µs (at Mpps) |")
        w("|---|---|---|---|---|---|---|---|")
        for r in runs:
            raw = aead(crypto, "ipsec-mb", "open" if r["direction"] == "decrypt" else "seal",
                       r["size"])
            ratio = f"{100 * r['mpps'] / raw:.0f}%" if raw else "–"
            lat = r["latency"]
            w(f"| {r['peers']} | {sname(r['size'])} | {r['direction']} | {r['mpps']:.3f} | "
              f"{r['gbps']:.2f} | {r['cycles_per_packet']:.0f} | {ratio} | "
              f"{lat['p50_us']:.1f} / {lat['p99_us']:.1f} / {lat['p999_us']:.1f} "
              f"({lat['load_mpps']:.2f}) |")
        drops = [r for r in runs if r["received"] < r["sent"]]
        if drops:
            w(f"\n{len(drops)} run(s) lost packets in the engine (its counters name why; "
              "a full tx ring toward the generator shows as tx_full).")
        w("")
        for h in engine.get("handshakes", []):
            w(f"Handshakes: {h['completed']} of {h['handshakes']} in {h['seconds']:.2f} s: "
              f"**{h['per_second']:.0f}/s** on the main lcore.  ")
        m = engine.get("memory", {})
        if m.get("established_peers"):
            w(f"\nMemory at {m['established_peers']} established peers: "
              f"**{m['rss_per_peer_bytes']:.0f} B resident per peer**: the process grew by "
              f"{m['rss_growth_per_peer_bytes']:.0f} B per peer as they were configured and "
              f"handshaked ({m['heap_per_peer_bytes']:.0f} B of it DPDK heap: the keypair), "
              f"plus the peer's {m['peer_slot_bytes']} B slot in the table allocated at start; "
              f"a keypair is {m['keypair_bytes']} B (1 KiB of it the 8192-bit replay window). "
              f"Engine with no peers: {m['engine_no_peers']['rss_bytes'] / 2**20:.0f} MiB "
              f"resident over the generator's own.\n")
        fl = engine.get("flood", {})
        if fl.get("initiations_sent"):
            w(f"Handshake flood: {fl['initiations_sent']} initiations from spoofed sources at "
              f"{fl['initiations_per_second']:.0f}/s beside established peers' 1420 B data: "
              f"data {fl['base_mpps']:.3f} Mpps alone, **{fl['flood_mpps']:.3f} Mpps during "
              f"the flood**; the POP answered {fl['cookie_replies']} cookie replies and "
              f"{fl['responses']} responses (the main lcore shares core 0 with the "
              "generator here).\n")

        # targets
        for d, op in (("decrypt", "open"), ("encrypt", "seal")):
            r = run(engine, 10000, 1420, d)
            raw = aead(crypto, "ipsec-mb", op, 1420)
            target(f"engine-only 1420 B, 10 000 peers, {d}: ≥ 80% of ipsec-mb {op}",
                   100 * r["mpps"] / raw if r and raw else None, 80, "%")
        for d, op in (("decrypt", "open"), ("encrypt", "seal")):
            r = run(engine, 10000, 64, d) or run(engine, 1, 64, d)
            raw = aead(crypto, "ipsec-mb", op, 64)
            target(f"engine-only 64 B, {r['peers'] if r else '?'} peers, {d}: ≥ 50% of "
                   f"ipsec-mb {op}", 100 * r["mpps"] / raw if r and raw else None, 50, "%")
        if 100000 in peers:
            for s in sizes:
                for d in ("decrypt", "encrypt"):
                    a, b = run(engine, 1, s, d), run(engine, 100000, s, d)
                    if a and b and a["mpps"] > 0:
                        target(f"100 000 vs 1 peer, {sname(s)} {d}: ≤ 15% slower",
                               100 * (1 - b["mpps"] / a["mpps"]), 15, "% slower", False)
            if m.get("established_peers", 0) >= 100000:
                target("memory per established peer at 100 000 peers: ≤ 2048 B",
                       m["rss_per_peer_bytes"], 2048, " B", False)
        x = (crypto or {}).get("x25519", {}).get("ops_per_sec")
        hs = max(engine.get("handshakes", []), key=lambda h: h["handshakes"], default=None)
        if x and hs:
            target("handshakes/s: ≥ 80% of X25519 ops/s ÷ 4",
                   100 * hs["per_second"] / (x / 4), 80, "%")

    # ---- end to end ----
    g, wg = e2e["gate44-dp"], e2e["wireguard-go"]
    if g or wg:
        w("## End to end over veth (the same generator and frames; one core each)\n")
        w("| peers | size | direction | gate44-dp Mpps | wireguard-go Mpps | ratio | "
          "offered Mpps (gate44-dp / wireguard-go) |")
        w("|---|---|---|---|---|---|---|")
        for r in (g or wg)["runs"]:
            a = run(g, r["peers"], r["size"], r["direction"])
            b = run(wg, r["peers"], r["size"], r["direction"])
            ratio = a["mpps"] / b["mpps"] if a and b and b["mpps"] > 0 else None
            bound = bool(a and a.get("generator_bound"))
            ge = "≥ " if bound else ""
            w(f"| {r['peers']} | {sname(r['size'])} | {r['direction']} | "
              f"{ge}{fmt(a and a['mpps'])} | {fmt(b and b['mpps'])} | "
              f"{'–' if ratio is None else f'{ge}{ratio:.1f}×'} | "
              f"{fmt(a and a['offered_mpps'])} / {fmt(b and b['offered_mpps'])} |")
            if ratio is not None:
                target(f"end to end {sname(r['size'])} {r['direction']}: ≥ 3× wireguard-go"
                       + (" (gate44-dp took all the generator sent: a lower bound)" if bound
                          else ""),
                       ratio, 3, "×", bound=bound)
        w("\ngate44-dp reads and writes the veths with net_af_packet (a copy through the "
          "kernel each way); wireguard-go uses a UDP socket and a TUN device and the "
          "kernel forwards around it. Each figure is the highest rate with at most 1% "
          "lost (a binary search of paced trials). \"≥\": gate44-dp took everything the "
          "generator could send at full speed — the generator, sending through af_packet "
          "on the core it shares with the kernel's veth work, is the limit, and the ratio "
          "is a lower bound.\n")

    # ---- targets ----
    if targets:
        w("## Targets\n")
        w("| target | measured | goal | met |")
        w("|---|---|---|---|")
        for name, value, goal, unit, ok, why in targets:
            meas = "–" if value is None else f"{value:.1f}{unit}"
            if ok is None and value is not None:
                verdict = "not shown: the generator is the limit"
            elif ok is None:
                verdict = "not measured"
            elif ok:
                verdict = "yes"
            else:
                gap = abs(value - goal)
                verdict = f"**no** (by {gap:.1f}{unit.strip() if unit.strip() != '%' else ' points'})"
            w(f"| {name} | {meas} | {goal}{unit} | {verdict} |")
        w("")
    perf = f"{out}/perf-engine.txt"
    if os.path.exists(perf):
        w("## Where the worker's cycles go (perf, 1420 B, 10 000 peers)\n")
        w("```")
        with open(perf) as f:
            w(f.read().rstrip())
        w("```\n")

    plots(out, crypto, engine, g, wg, w)
    with open(f"{out}/REPORT.md", "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"{out}/REPORT.md")


def plots(out, crypto, engine, g, wg, w):
    try:
        subprocess.run(["gnuplot", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        w("(gnuplot not found: no plots)")
        return
    sizes = [64, 512, 1420]
    series = []
    if engine:
        ps = sorted({r["peers"] for r in engine["runs"]})
        pk = 10000 if 10000 in ps else ps[-1]
        for d in ("decrypt", "encrypt"):
            series.append((f"engine-only {d} ({pk} peers)",
                           [run(engine, pk, s, d) and run(engine, pk, s, d)["mpps"] for s in sizes]))
    for name, doc in (("gate44-dp", g), ("wireguard-go", wg)):
        if doc:
            series.append((f"{name} end to end, decrypt",
                           [run(doc, doc["runs"][0]["peers"], s, "decrypt") and
                            run(doc, doc["runs"][0]["peers"], s, "decrypt")["mpps"] for s in sizes]))
    if crypto:
        series.append(("raw AEAD ipsec-mb open", [aead(crypto, "ipsec-mb", "open", s) for s in sizes]))
    with open(f"{out}/size.dat", "w") as f:
        f.write("size " + " ".join(f'"{n}"' for n, _ in series) + "\n")
        for i, s in enumerate(sizes):
            f.write(f"{s} " + " ".join(fmt(v[i]) if v[i] is not None else "NaN"
                                      for _, v in series) + "\n")
    gp = ["set terminal pngcairo size 900,560 font 'sans,10'",
          f"set output '{out}/mpps-vs-size.png'",
          "set title 'Mpps per core vs inner packet size'", "set xlabel 'inner packet (bytes)'",
          "set ylabel 'Mpps'", "set key outside bottom center horizontal maxrows 3",
          "set style data histogram", "set style histogram clustered gap 1",
          "set style fill solid 0.8 border -1", "set grid ytics",
          "plot " + ", ".join(f"'{out}/size.dat' using {i + 2}:xtic(1) title columnheader({i + 2})"
                              for i in range(len(series)))]
    ok = bool(series) and subprocess.run(["gnuplot"], input="\n".join(gp), text=True,
                                         capture_output=True).returncode == 0
    if ok:
        w("![Mpps vs packet size](mpps-vs-size.png)\n")
    if engine:
        ps = sorted({r["peers"] for r in engine["runs"]})
        names = []
        for s in (64, 1420):
            for d in ("decrypt", "encrypt"):
                names.append(f"{s} B {d}")
        with open(f"{out}/peers.dat", "w") as f:
            f.write("peers " + " ".join(f'"{n}"' for n in names) + "\n")
            for p in ps:
                vals = []
                for s in (64, 1420):
                    for d in ("decrypt", "encrypt"):
                        r = run(engine, p, s, d)
                        vals.append(fmt(r["mpps"]) if r else "NaN")
                f.write(f"{p} " + " ".join(vals) + "\n")
        gp = ["set terminal pngcairo size 900,520 font 'sans,10'",
              f"set output '{out}/mpps-vs-peers.png'",
              "set title 'Engine-only Mpps per core vs established peers'",
              "set xlabel 'established peers'", "set ylabel 'Mpps'", "set logscale x",
              "set key outside right", "set grid", "set yrange [0:*]",
              "plot " + ", ".join(f"'{out}/peers.dat' using 1:{i + 2} with linespoints "
                                  f"lw 2 title columnheader({i + 2})" for i in range(len(names)))]
        if subprocess.run(["gnuplot"], input="\n".join(gp), text=True,
                          capture_output=True).returncode == 0:
            w("![Mpps vs peers](mpps-vs-peers.png)\n")


if __name__ == "__main__":
    main()
