# Plots of bench/e2e.py's data files; run in the results directory.
set terminal pngcairo size 800,480 noenhanced
set output 'throughput.png'
set title 'New assets end to end: backfilld vs raw COPY of the same rows'
set xlabel 'N new assets'
set ylabel 'assets per second'
set logscale x
set key outside bottom center horizontal
set yrange [0:*]
set grid
plot 'throughput.dat' using 1:2 with linespoints lw 2 title 'backfilld', \
     '' using 1:3 with linespoints lw 2 dt 2 title 'raw COPY (limit)', \
     '' using 1:($3/2) with lines dt 3 title 'half of COPY (target)'

set output 'latency.png'
set title 'Notify-to-stored latency'
unset logscale x
set logscale y
set xlabel ''
set ylabel 'milliseconds'
set style data histograms
set style histogram clustered
set style fill solid 0.7
set boxwidth 0.9
plot 'latency.dat' using 2:xtic(1) title 'p50', '' using 3 title 'p95', \
     '' using 4 title 'p99'
