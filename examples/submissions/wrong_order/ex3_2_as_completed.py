"""Mistake: results read in submission order, not as the tasks complete."""

import concurrent.futures
import time


def nap(seconds):
    time.sleep(seconds)
    return f"Done Sleeping...{seconds}"


if __name__ == "__main__":
    with concurrent.futures.ProcessPoolExecutor() as pool:
        futures = [pool.submit(nap, s) for s in [5, 4, 3, 2, 1]]
        concurrent.futures.as_completed(futures)  # called, but its order is thrown away
        for future in futures:
            print(future.result())
