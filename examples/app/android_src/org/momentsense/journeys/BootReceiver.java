package org.momentsense.journeys;

import android.app.NotificationChannel;
import android.app.NotificationManager;
import android.app.PendingIntent;
import android.content.BroadcastReceiver;
import android.content.Context;
import android.content.Intent;
import android.os.Build;

import java.io.File;

/**
 * After a reboot, offers to resume sensing with a notification, if the user allowed it in Settings
 * (the app then keeps the file "journeys-resume-after-boot" in its files folder) and the file is there.
 *
 * It does not start the location foreground service itself: since Android 14 a location service
 * started from BOOT_COMPLETED needs background location access, which Journeys does not ask for.
 * Tapping the notification opens the app, which starts the service from the foreground.
 * Registered in the manifest by p4a_hook.py.
 */
public class BootReceiver extends BroadcastReceiver {
    private static final String CHANNEL = "journeys_resume";

    @Override
    public void onReceive(Context context, Intent intent) {
        if (!Intent.ACTION_BOOT_COMPLETED.equals(intent.getAction())) {
            return;
        }
        if (!new File(context.getFilesDir(), "journeys-resume-after-boot").exists()) {
            return;
        }
        NotificationManager nm = (NotificationManager) context.getSystemService(Context.NOTIFICATION_SERVICE);
        if (Build.VERSION.SDK_INT >= 26) {
            nm.createNotificationChannel(new NotificationChannel(CHANNEL, "Resume Journeys", NotificationManager.IMPORTANCE_DEFAULT));
        }
        Intent open = context.getPackageManager().getLaunchIntentForPackage(context.getPackageName());
        PendingIntent tap = PendingIntent.getActivity(context, 0, open, PendingIntent.FLAG_IMMUTABLE);
        android.app.Notification.Builder b = Build.VERSION.SDK_INT >= 26
                ? new android.app.Notification.Builder(context, CHANNEL)
                : new android.app.Notification.Builder(context);
        b.setSmallIcon(context.getApplicationInfo().icon)
                .setContentTitle("Journeys is paused after a restart")
                .setContentText("Tap to resume recording your day.")
                .setContentIntent(tap)
                .setAutoCancel(true);
        nm.notify(1, b.build());
    }
}
