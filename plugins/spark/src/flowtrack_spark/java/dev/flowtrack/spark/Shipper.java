package dev.flowtrack.spark;

import java.io.File;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One per JVM: a bounded queue of JSON lines and a daemon thread appending them to the spool
 * file of the application. Spark's listener bus only ever offers to the queue (never waits):
 * when the queue is full the event is dropped and counted, and the count is written with the
 * application's end. Every failure is caught and logged once: tracking never fails Spark.
 */
final class Shipper {
  private static final Object LOCK = new Object();
  private static Shipper instance;
  // Queued by finish(); compared by identity, so no event can be mistaken for it.
  private static final String WAKE = new String("wake");

  private final ArrayBlockingQueue<String> queue;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong shipped = new AtomicLong();
  private final String appId;
  private final File file;
  private final Thread thread;
  private volatile boolean closing;
  // The application's end, written after the queue: it carries the drop count, so it must
  // never be dropped itself, however full the queue is.
  private volatile Map<String, Object> last;
  private boolean warned;

  /** The shipper of application ``appId``: a new one when a driver stops its SparkContext and
   * starts another in the same JVM (each application has its own spool file). */
  static Shipper get(Settings settings, String appId) {
    synchronized (LOCK) {
      if (instance == null || instance.closing || !instance.appId.equals(appId)) {
        instance = new Shipper(settings, appId);
      }
      return instance;
    }
  }

  /** The shipper of this JVM if the application listener made one (the SQL listener waits). */
  static Shipper current() {
    synchronized (LOCK) {
      return instance;
    }
  }

  private Shipper(Settings settings, String appId) {
    this.appId = appId;
    this.queue = new ArrayBlockingQueue<>(Math.max(1, settings.queueSize));
    File dir = new File(settings.spoolDir);
    String safe = appId.replaceAll("[^A-Za-z0-9._-]", "_");
    this.file = new File(dir, safe + ".jsonl");
    this.thread = new Thread(this::loop, "flowtrack-spark-shipper");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  File file() {
    return file;
  }

  long dropped() {
    return dropped.get();
  }

  long shipped() {
    return shipped.get();
  }

  /** Hand one event over; never blocks. */
  void offer(Map<String, Object> event) {
    try {
      if (!queue.offer(Json.write(event))) {
        dropped.incrementAndGet();
      }
    } catch (RuntimeException e) {
      warnOnce("could not queue an event", e);
    }
  }

  /** Write what is queued, then ``end`` (with the final counts), then stop: called at the
   * application's end, bounded in time. */
  void finish(Map<String, Object> end, long timeoutMs) {
    last = end;
    closing = true;
    // Wakes the thread now rather than at its next poll: the application's end (and with it
    // the JVM's exit) waits for this. A full queue leaves it to the poll's timeout.
    queue.offer(WAKE);
    try {
      thread.join(timeoutMs);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void loop() {
    Writer out = null;
    List<String> batch = new ArrayList<>();
    try {
      file.getParentFile().mkdirs();
      out = new OutputStreamWriter(new FileOutputStream(file, true), StandardCharsets.UTF_8);
      while (true) {
        String first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closing) {
            writeLast(out);
            break;
          }
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, 1000);
        boolean woken = false;
        int written = 0;
        for (String line : batch) {
          if (line == WAKE) {
            woken = true;
            continue;
          }
          out.write(line);
          out.write('\n');
          written++;
        }
        out.flush();
        shipped.addAndGet(written);
        batch.clear();
        if (woken && queue.isEmpty()) {
          writeLast(out);
          break;
        }
      }
    } catch (Exception e) {
      warnOnce("could not write the spool file " + file, e);
    } finally {
      if (out != null) {
        try {
          out.close();
        } catch (Exception e) {
          warnOnce("could not close the spool file " + file, e);
        }
      }
    }
  }

  private void writeLast(Writer out) throws java.io.IOException {
    Map<String, Object> end = last;
    if (end != null) {
      end.put("dropped", dropped.get());
      end.put("shipped", shipped.get() + 1);
      out.write(Json.write(end));
      out.write('\n');
      out.flush();
      shipped.incrementAndGet();
    }
  }

  synchronized void warnOnce(String what, Throwable e) {
    if (!warned) {
      warned = true;
      System.err.println("flowtrack: " + what + " (Spark is not affected; further errors are not"
          + " reported): " + e);
    }
  }
}
