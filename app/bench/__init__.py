"""`kezhan bench`: every figure is measured beside a raw baseline in the same run.

A noisy machine slows both sides alike, so the ratio is what we hold ourselves to; the absolute
percentiles are printed too where an issue sets a goal in milliseconds.
"""
