"""Mistake: as_completed where map was asked for; results arrive out of input order."""

import concurrent.futures
import time


def nap(seconds):
    time.sleep(seconds)
    return seconds


if __name__ == "__main__":
    with concurrent.futures.ProcessPoolExecutor() as pool:
        futures = [pool.submit(nap, s) for s in [5, 4, 3, 2, 1]]
        for future in concurrent.futures.as_completed(futures):
            print(future.result())
