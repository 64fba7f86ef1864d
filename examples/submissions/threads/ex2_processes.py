"""Mistake: threads instead of processes; they overlap, but inside the main process."""

import threading
import time


def nap(seconds):
    time.sleep(seconds)


if __name__ == "__main__":
    workers = [threading.Thread(target=nap, args=(1,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
