"""Exercise 1: two tasks, one after the other; the run takes the sum of their sleeps."""

import time


def nap(seconds):
    print(f"Sleeping {seconds} second(s)...")
    time.sleep(seconds)
    print("Done Sleeping...")


if __name__ == "__main__":
    begin = time.perf_counter()
    nap(1)
    nap(2)
    print(f"Finished in {time.perf_counter() - begin:.2f} second(s)")
