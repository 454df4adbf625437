# mta-lib.sh - placeholder
