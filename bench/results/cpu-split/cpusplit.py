import os, sys, time
tck = os.sysconf("SC_CLK_TCK")
last = {}  # pid -> (cat, cpu)
out = open(sys.argv[1], "w")
while True:
    for pid in os.listdir("/proc"):
        if not pid.isdigit(): continue
        try:
            cmd = open(f"/proc/{pid}/cmdline","rb").read().replace(b"\0",b" ").decode(errors="replace")
            st = open(f"/proc/{pid}/stat").read().rsplit(")",1)[1].split()
        except OSError: continue
        if "build-release/backfilld" in cmd: cat = "daemon"
        elif cmd.startswith("postgres: postgres bench"): cat = "pg"
        elif "bench/e2e.py" in cmd: cat = "python"
        elif "cc1plus" in cmd: cat = "cc1plus"
        else: continue
        last[pid] = (cat, (int(st[11])+int(st[12]))/tck)
    tot = {}
    for c, v in last.values(): tot[c] = tot.get(c,0)+v
    out.write(f"{time.time():.2f} " + " ".join(f"{k}={v:.2f}" for k,v in sorted(tot.items())) + "\n"); out.flush()
    time.sleep(0.5)
