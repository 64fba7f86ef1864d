"""Exercise 3.2: five tasks; results printed in the order the tasks finish."""

import concurrent.futures
import time


def nap(seconds):
    print(f"Sleeping {seconds} second(s)...")
    time.sleep(seconds)
    return f"Done Sleeping...{seconds}"


if __name__ == "__main__":
    begin = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor() as pool:
        futures = [pool.submit(nap, s) for s in [5, 4, 3, 2, 1]]
        for done in concurrent.futures.as_completed(futures):
            print(done.result())
    print(f"Finished in {time.perf_counter() - begin:.2f} second(s)")
