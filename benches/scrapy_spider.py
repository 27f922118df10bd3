#!/usr/bin/env python3
"""The Scrapy side of `cargo bench --bench scale -- crawl`.

Crawls the bench's generated site with the same selectors as newswatch's bench source
(list links `ul.news-list a`, next page `div.pages a.next`, title `h1.title`, body
`div.article-content`, date `span.pubdate`), 16 requests in flight overall and per host, no
delay, robots.txt obeyed, items written as JSON lines. Run it by hand against any site laid
out the same way:

    python3 benches/scrapy_spider.py --start http://127.0.0.1:8080/list/index.html --out items.jl

It prints one line `scrapy: N items` at the end. Needs `pip install scrapy` (measured with 2.19).
"""

import argparse
import sys

import scrapy
from scrapy.crawler import CrawlerProcess


class BenchSpider(scrapy.Spider):
    name = "bench"

    def __init__(self, start, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [start]

    def parse(self, response):
        # A list page: every article link, then the next list page.
        for href in response.css("ul.news-list a::attr(href)").getall():
            yield response.follow(href, callback=self.parse_article)
        nxt = response.css("div.pages a.next::attr(href)").get()
        if nxt:
            yield response.follow(nxt, callback=self.parse)

    def parse_article(self, response):
        title = " ".join(t.strip() for t in response.css("h1.title ::text").getall()).strip()
        body = " ".join(
            " ".join(t.strip() for t in p.css("::text").getall() if t.strip())
            for p in response.css("div.article-content")
        )
        date = " ".join(response.css("span.pubdate ::text").getall()).strip()
        if title and body:
            yield {"url": response.url, "title": title, "body": body, "date": date}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", required=True, help="URL of the first list page")
    ap.add_argument("--out", required=True, help="JSON lines file for the items")
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "ROBOTSTXT_OBEY": True,
            "USER_AGENT": "scrapy-bench",
            "LOG_LEVEL": "WARNING",
            "TELNETCONSOLE_ENABLED": False,
            "COOKIES_ENABLED": False,
            "RETRY_ENABLED": True,
            "FEEDS": {args.out: {"format": "jsonlines", "encoding": "utf8", "overwrite": True}},
        }
    )
    crawler = process.create_crawler(BenchSpider)
    process.crawl(crawler, start=args.start)
    process.start()
    items = crawler.stats.get_value("item_scraped_count", 0)
    print(f"scrapy: {items} items")
    sys.exit(0 if items else 1)


if __name__ == "__main__":
    main()
