#!/bin/sh
# relay.sh - placeholder
exit 77
