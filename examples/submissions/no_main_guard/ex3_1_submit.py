"""Mistake: no main guard around the pool."""

import concurrent.futures
import time


def nap(seconds):
    time.sleep(seconds)
    return "Done Sleeping..."


with concurrent.futures.ProcessPoolExecutor() as pool:
    one, two = pool.submit(nap, 1), pool.submit(nap, 1)
    print(one.result(), two.result())
