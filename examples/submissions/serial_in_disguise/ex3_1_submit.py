"""Mistake: waiting for each result right after submitting it serializes the pool."""

import concurrent.futures
import time


def nap(seconds):
    time.sleep(seconds)
    return "Done Sleeping..."


if __name__ == "__main__":
    with concurrent.futures.ProcessPoolExecutor() as pool:
        print(pool.submit(nap, 1).result())
        print(pool.submit(nap, 1).result())
