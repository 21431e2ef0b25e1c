package dev.flowtrack.spark;

import java.io.File;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkConf;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.JobFailed;
import org.apache.spark.scheduler.JobResult;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerApplicationEnd;
import org.apache.spark.scheduler.SparkListenerApplicationStart;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.StageInfo;

/**
 * The application listener (spark.extraListeners=dev.flowtrack.spark.FlowtrackListener).
 *
 * <p>It turns application, job and stage events into JSON lines handed to the {@link Shipper}
 * and starts the Python ingest helper when spark.flowtrack.python names an interpreter. Each
 * callback catches everything: a listener that throws would only be logged by Spark, but one
 * that is slow holds up every other listener, so nothing here does I/O on Spark's thread.
 */
public class FlowtrackListener extends SparkListener {
  static final String[] METRICS = {
    "executor_run_time_ms", "executor_cpu_time_ms", "records_read", "bytes_read",
    "records_written", "bytes_written", "shuffle_read_bytes", "shuffle_read_records",
    "shuffle_write_bytes", "shuffle_write_records", "memory_spilled_bytes", "disk_spilled_bytes",
    "peak_execution_memory_bytes"};

  // Set through py4j by a Python driver's uncaught-exception hook (flowtrack_spark.driver):
  // a driver failing outside any Spark job is something no Spark event tells.
  private static volatile String driverError;

  private final Settings settings;
  private volatile Shipper shipper;
  private final Map<Integer, Integer> stageToJob = new ConcurrentHashMap<>();
  private final Map<Integer, long[]> jobTotals = new ConcurrentHashMap<>();
  private final Map<Integer, Long> jobStarts = new ConcurrentHashMap<>();
  private final Map<Integer, Integer> failedTasks = new ConcurrentHashMap<>();
  private final Map<Integer, Integer> jobFailedTasks = new ConcurrentHashMap<>();
  private final Map<Integer, Integer> jobTasks = new ConcurrentHashMap<>();

  public FlowtrackListener(SparkConf conf) {
    this.settings = new Settings(conf);
    for (String key : settings.unknown) {
      System.err.println("flowtrack: unknown Spark conf key " + key + " (ignored); known keys: "
          + "spark.flowtrack." + String.join(", spark.flowtrack.", Settings.KNOWN));
    }
  }

  @Override
  public void onApplicationStart(SparkListenerApplicationStart start) {
    try {
      String appId = start.appId().isDefined() ? start.appId().get() : "app-" + start.time();
      shipper = Shipper.get(settings, appId);
      Map<String, Object> e = event("app_start", appId);
      e.put("attemptId", start.appAttemptId().isDefined() ? start.appAttemptId().get() : null);
      e.put("name", start.appName());
      e.put("time", start.time());
      e.put("user", start.sparkUser());
      e.put("sparkVersion", org.apache.spark.package$.MODULE$.SPARK_VERSION());
      e.put("params", settings.params);
      e.put("flowtrack", settings.flowtrack);
      e.put("unknownKeys", settings.unknown);
      e.put("envRunId", System.getenv("FLOWTRACK_RUN_ID"));
      e.put("pid", ProcessHandle.current().pid());
      shipper.offer(e);
      startHelper(shipper.file());
    } catch (Throwable t) {
      warn("application start", t);
    }
  }

  private void startHelper(File spool) {
    if (settings.python.isEmpty() || !settings.helper) {
      return; // `flowtrack sync` (or `flowtrack spark ingest`) ingests the spool later
    }
    try {
      ProcessBuilder pb = new ProcessBuilder(settings.python, "-m", "flowtrack_spark", "ingest",
          "--follow", String.valueOf(ProcessHandle.current().pid()), spool.getPath());
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      pb.redirectError(ProcessBuilder.Redirect.INHERIT);
      pb.start();
    } catch (Throwable t) {
      warn("starting the ingest helper " + settings.python, t);
    }
  }

  @Override
  public void onJobStart(SparkListenerJobStart jobStart) {
    try {
      int jobId = jobStart.jobId();
      jobStarts.put(jobId, jobStart.time());
      for (Object stage : scala.jdk.javaapi.CollectionConverters.asJava(jobStart.stageIds())) {
        stageToJob.put((Integer) stage, jobId);
      }
    } catch (Throwable t) {
      warn("job start", t);
    }
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
    try {
      if (taskEnd.taskInfo() != null && taskEnd.taskInfo().failed()) {
        failedTasks.merge(taskEnd.stageId(), 1, Integer::sum);
      }
    } catch (Throwable t) {
      warn("task end", t);
    }
  }

  @Override
  public void onStageCompleted(SparkListenerStageCompleted completed) {
    Shipper out = shipper;
    if (out == null) {
      return;
    }
    try {
      StageInfo info = completed.stageInfo();
      int stageId = info.stageId();
      Integer jobId = stageToJob.remove(stageId);
      long[] values = values(info.taskMetrics());
      int failed = failedTasks.getOrDefault(stageId, 0);
      failedTasks.remove(stageId);
      Map<String, Object> e = event("stage", out);
      e.put("stageId", stageId);
      e.put("attempt", info.attemptNumber());
      e.put("jobId", jobId);
      e.put("name", info.name());
      e.put("tasks", info.numTasks());
      e.put("failedTasks", failed);
      if (info.submissionTime().isDefined() && info.completionTime().isDefined()) {
        e.put("durationMs", (Long) info.completionTime().get() - (Long) info.submissionTime().get());
      }
      putMetrics(e, values);
      if (info.failureReason().isDefined()) {
        e.put("error", info.failureReason().get());
      }
      out.offer(e);
      if (jobId != null) {
        jobTotals.merge(jobId, values, FlowtrackListener::add);
        jobFailedTasks.merge(jobId, failed, Integer::sum);
        jobTasks.merge(jobId, info.numTasks(), Integer::sum);
      }
    } catch (Throwable t) {
      warn("stage completed", t);
    }
  }

  @Override
  public void onJobEnd(SparkListenerJobEnd jobEnd) {
    Shipper out = shipper;
    if (out == null) {
      return;
    }
    try {
      int jobId = jobEnd.jobId();
      Map<String, Object> e = event("job", out);
      e.put("jobId", jobId);
      e.put("time", jobEnd.time());
      Long started = jobStarts.remove(jobId);
      if (started != null) {
        e.put("durationMs", jobEnd.time() - started);
      }
      JobResult result = jobEnd.jobResult();
      e.put("succeeded", !(result instanceof JobFailed));
      if (result instanceof JobFailed) {
        Exception error = ((JobFailed) result).exception();
        e.put("error", error == null ? "job failed" : error.toString());
      }
      long[] totals = jobTotals.remove(jobId);
      putMetrics(e, totals == null ? new long[METRICS.length] : totals);
      Integer failed = jobFailedTasks.remove(jobId);
      e.put("failedTasks", failed == null ? 0 : failed);
      Integer tasks = jobTasks.remove(jobId);
      e.put("tasks", tasks == null ? 0 : tasks);
      out.offer(e);
    } catch (Throwable t) {
      warn("job end", t);
    }
  }

  /** The driver failed with ``message``: the application's run ends FAILED with it. */
  public static void driverFailed(String message) {
    driverError = message;
  }

  @Override
  public void onApplicationEnd(SparkListenerApplicationEnd end) {
    Shipper out = shipper;
    if (out == null) {
      return;
    }
    try {
      Map<String, Object> e = event("app_end", out);
      e.put("time", end.time());
      String failed = driverError;
      if (failed != null) {
        driverError = null; // a next application in this JVM starts clean
        e.put("error", failed);
      }
      // Bounded: the spool must hold the end before the JVM exits, but Spark's exit waits
      // at most this long for it. The shipper adds the final counts.
      out.finish(e, 5000);
    } catch (Throwable t) {
      warn("application end", t);
    }
  }

  private static long[] values(TaskMetrics m) {
    long[] v = new long[METRICS.length];
    if (m == null) {
      return v;
    }
    v[0] = m.executorRunTime();
    v[1] = m.executorCpuTime() / 1_000_000L;
    v[2] = m.inputMetrics().recordsRead();
    v[3] = m.inputMetrics().bytesRead();
    v[4] = m.outputMetrics().recordsWritten();
    v[5] = m.outputMetrics().bytesWritten();
    v[6] = m.shuffleReadMetrics().totalBytesRead();
    v[7] = m.shuffleReadMetrics().recordsRead();
    v[8] = m.shuffleWriteMetrics().bytesWritten();
    v[9] = m.shuffleWriteMetrics().recordsWritten();
    v[10] = m.memoryBytesSpilled();
    v[11] = m.diskBytesSpilled();
    v[12] = m.peakExecutionMemory();
    return v;
  }

  private static long[] add(long[] a, long[] b) {
    long[] sum = new long[a.length];
    for (int i = 0; i < a.length; i++) {
      // Peak memory is a maximum over stages, not a sum.
      sum[i] = i == 12 ? Math.max(a[i], b[i]) : a[i] + b[i];
    }
    return sum;
  }

  private static void putMetrics(Map<String, Object> e, long[] values) {
    Map<String, Object> metrics = new LinkedHashMap<>();
    for (int i = 0; i < METRICS.length; i++) {
      metrics.put(METRICS[i], values[i]);
    }
    e.put("metrics", metrics);
  }

  static Map<String, Object> event(String kind, String appId) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("e", kind);
    e.put("appId", appId);
    e.put("at", System.currentTimeMillis());
    return e;
  }

  private static Map<String, Object> event(String kind, Shipper out) {
    return event(kind, (String) null); // one spool file per application: the id is in its name
  }

  private boolean warned;

  private void warn(String where, Throwable t) {
    if (!warned) {
      warned = true;
      System.err.println("flowtrack: the Spark listener failed at " + where
          + " (Spark is not affected; further errors are not reported): " + t);
    }
  }
}
