"""Exercise 2: two processes, both started before either is joined, so they overlap."""

import multiprocessing
import time


def nap(seconds):
    print(f"Sleeping {seconds} second(s)...")
    time.sleep(seconds)
    print("Done Sleeping...")


if __name__ == "__main__":
    begin = time.perf_counter()
    first = multiprocessing.Process(target=nap, args=(1,))
    second = multiprocessing.Process(target=nap, args=(1,))
    first.start()
    second.start()
    first.join()
    second.join()
    print(f"Finished in {time.perf_counter() - begin:.2f} second(s)")
