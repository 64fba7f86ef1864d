"""Exercise 3.3: five tasks through map; results come back in input order."""

import concurrent.futures
import time


def nap(seconds):
    print(f"Sleeping {seconds} second(s)...")
    time.sleep(seconds)
    return f"Done Sleeping...{seconds}"


if __name__ == "__main__":
    begin = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor() as pool:
        for line in pool.map(nap, [5, 4, 3, 2, 1]):
            print(line)
    print(f"Finished in {time.perf_counter() - begin:.2f} second(s)")
