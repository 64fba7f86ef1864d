"""Mistake: each process is joined before the next one starts, so nothing overlaps."""

import multiprocessing
import time


def nap(seconds):
    print(f"Sleeping {seconds} second(s)...")
    time.sleep(seconds)


if __name__ == "__main__":
    for _ in range(2):
        worker = multiprocessing.Process(target=nap, args=(1,))
        worker.start()
        worker.join()
