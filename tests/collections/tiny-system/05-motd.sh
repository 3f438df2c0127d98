# the message of the day, from the hello just built (sourced by make-system.sh)
"$LFS/usr/bin/hello" tiny > "$LFS/etc/motd"
echo "built $(date +%F)" >> "$LFS/etc/motd"
