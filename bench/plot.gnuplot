# bench/plot.gnuplot — charts for bench/results/RESULTS.md (called by compare.sh).
#
#   gnuplot -e "dir='DATA_AND_OUTPUT_DIR'" bench/plot.gnuplot
#
# Reads dir/fanout_p99.dat and dir/fanout_cpu.dat (columns: rate, pchatd,
# ngircd, inspircd; NaN where a server gave no figure) and dir/bars.dat
# (columns: server, small-room deliveries/s, connect seconds, idle KiB per
# connection) and writes fanout_p99.png, fanout_cpu.png and others.png beside
# them. It measures nothing itself.
set terminal pngcairo size 900,500 font "sans,10"
set datafile missing "NaN"
set key top left
set grid ytics

set output dir."/fanout_p99.png"
set title "Fan-out: 1,000 clients in 10 rooms of 100, 100-byte bodies"
set xlabel "offered rate (msg/s)"
set ylabel "send-to-delivery p99 (ms, log scale)"
set logscale y
plot dir."/fanout_p99.dat" using 1:2 with linespoints lw 2 pt 7 title "pchatd (durable)", \
     ''                    using 1:3 with linespoints lw 2 pt 5 title "ngIRCd", \
     ''                    using 1:4 with linespoints lw 2 pt 9 title "InspIRCd"
unset logscale y

set output dir."/fanout_cpu.png"
set title "Fan-out: server CPU per delivery"
set ylabel "server CPU per delivery (µs)"
set yrange [0:*]
plot dir."/fanout_cpu.dat" using 1:2 with linespoints lw 2 pt 7 title "pchatd (durable)", \
     ''                    using 1:3 with linespoints lw 2 pt 5 title "ngIRCd", \
     ''                    using 1:4 with linespoints lw 2 pt 9 title "InspIRCd"

set output dir."/others.png"
set terminal pngcairo size 1200,420 font "sans,10"
unset title
unset xlabel
unset key
set style data histograms
set style histogram clustered
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics nomirror
set multiplot layout 1,3 title "Many small rooms, connect and idle (lower is better except deliveries/s)"
set title "400 rooms of 5: deliveries/s (higher is better)"
set ylabel "deliveries/s"
plot dir."/bars.dat" using 2:xtic(1) lc rgb "#3b7dd8"
set title "1,000 clients connect + join: seconds"
set ylabel "s (log scale)"
set logscale y
set yrange [*:*]
plot dir."/bars.dat" using 3:xtic(1) lc rgb "#d8823b"
unset logscale y
set yrange [0:*]
set title "idle connections (10,000; 2,000 with --quick): KiB RSS each"
set ylabel "KiB per connection"
plot dir."/bars.dat" using 4:xtic(1) lc rgb "#4caf50"
unset multiplot
