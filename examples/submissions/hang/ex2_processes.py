"""Mistake: a child that waits for an event nobody sets; join never returns."""

import multiprocessing
import time


def nap(seconds, never):
    time.sleep(seconds)
    never.wait()


if __name__ == "__main__":
    never = multiprocessing.Event()
    workers = [multiprocessing.Process(target=nap, args=(1, never)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
