"""Mistake: ThreadPoolExecutor where a process pool was asked for."""

import concurrent.futures
import time


def nap(seconds):
    time.sleep(seconds)
    return "Done Sleeping..."


if __name__ == "__main__":
    with concurrent.futures.ThreadPoolExecutor() as pool:
        one, two = pool.submit(nap, 1), pool.submit(nap, 1)
        print(one.result(), two.result())
