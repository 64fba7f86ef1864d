"""Exercise 2.1: ten processes started in a loop, then all joined."""

import multiprocessing
import time


def nap(seconds):
    print(f"Sleeping {seconds} second(s)...")
    time.sleep(seconds)
    print("Done Sleeping...")


if __name__ == "__main__":
    begin = time.perf_counter()
    running = []
    for _ in range(10):
        worker = multiprocessing.Process(target=nap, args=(1,))
        worker.start()
        running.append(worker)
    for worker in running:
        worker.join()
    print(f"Finished in {time.perf_counter() - begin:.2f} second(s)")
