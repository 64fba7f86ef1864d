"""Exercise 3.1: a process pool; submit both tasks first, then wait for their results."""

import concurrent.futures
import time


def nap(seconds):
    print(f"Sleeping {seconds} second(s)...")
    time.sleep(seconds)
    return "Done Sleeping..."


if __name__ == "__main__":
    begin = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor() as pool:
        one = pool.submit(nap, 1)
        two = pool.submit(nap, 1)
        print(one.result())
        print(two.result())
    print(f"Finished in {time.perf_counter() - begin:.2f} second(s)")
